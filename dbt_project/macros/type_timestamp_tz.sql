{#- The type of an instant with its time zone (every *_at column of the marts). dbt's own
    type_timestamp() is the zone-less type on several adapters, so it cannot be used to
    type a NULL placeholder of an *_at column. -#}
{% macro type_timestamp_tz() -%}
    {{ return(adapter.dispatch('type_timestamp_tz', 'prm_warehouse')()) }}
{%- endmacro %}

{% macro default__type_timestamp_tz() -%}
    timestamp with time zone
{%- endmacro %}

{% macro bigquery__type_timestamp_tz() -%}
    timestamp
{%- endmacro %}

{% macro snowflake__type_timestamp_tz() -%}
    timestamp_tz
{%- endmacro %}
