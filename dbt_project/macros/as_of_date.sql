{#- The as-of date of every mart as a SQL date literal (YYYY-MM-DD): the `as_of_date`
    variable when set, otherwise the environment variable PRM_AS_OF_DATE, otherwise today in
    Japan time. Tests and benchmarks pin it. The orchestration passes the environment
    variable, not the dbt variable: a new value of a dbt variable makes dbt parse the whole
    project again, a new value of an environment variable only the models that read it. -#}
{% macro as_of_date() -%}
    {%- set configured = var('as_of_date', '') | string | trim -%}
    {%- if configured in ('', 'None') -%}
        {%- set configured = env_var('PRM_AS_OF_DATE', '') | string | trim -%}
    {%- endif -%}
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
