{#- Japan-time calendar helpers. Instants are stored as UTC-aware timestamps; every date,
    week and month in the marts is a Japan-time (Asia/Tokyo, UTC+9, no daylight saving)
    calendar date. Adapters without `timezone()` get their own implementation through
    dispatch. -#}

{% macro jst_date(instant) -%}
    {{ return(adapter.dispatch('jst_date', 'prm_warehouse')(instant)) }}
{%- endmacro %}

{% macro default__jst_date(instant) -%}
    cast(convert_timezone('UTC', 'Asia/Tokyo', {{ instant }}) as date)
{%- endmacro %}

{% macro duckdb__jst_date(instant) -%}
    cast(timezone('Asia/Tokyo', {{ instant }}) as date)
{%- endmacro %}

{% macro jst_month_start(instant) -%}
    {{ dbt.date_trunc('month', prm_warehouse.jst_date(instant)) }}
{%- endmacro %}
