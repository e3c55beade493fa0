{#- The as-of date of every mart as a SQL date literal: the `as_of_date` variable when set
    (YYYY-MM-DD), otherwise today in Japan time. Tests and benchmarks pin it. -#}
{% macro as_of_date() -%}
    {%- set configured = var('as_of_date', '') | string | trim -%}
    {%- if configured in ('', 'None') -%}
        {%- set tokyo = modules.pytz.timezone('Asia/Tokyo') -%}
        {%- set configured = modules.datetime.datetime.now(tokyo).strftime('%Y-%m-%d') -%}
    {%- endif -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', configured) -%}
        {%- set message = "as_of_date must be YYYY-MM-DD, got '" ~ configured ~ "'" -%}
        {{ exceptions.raise_compiler_error(message) }}
    {%- endif -%}
    cast('{{ configured }}' as date)
{%- endmacro %}
