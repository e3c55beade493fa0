{#- Generic test: fails (or warns, by its severity) when the model returns any row. Used on
    models whose rows are findings, such as int_reference_violations. -#}
{% test has_no_rows(model) -%}
    select * from {{ model }}
{%- endtest %}
