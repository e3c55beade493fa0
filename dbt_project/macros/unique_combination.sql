{#- Generic test: fails with one row per combination of `columns` that occurs more than
    once in the model. Use it for the primary key of a table whose grain spans several
    columns; pair it with not_null on each of them, since NULLs never collide here. -#}
{% test unique_combination(model, columns) -%}
    select
        {{ columns | join(', ') }},
        count(*) as occurrences
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{%- endtest %}
