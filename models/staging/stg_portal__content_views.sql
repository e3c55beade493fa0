{#- Incremental: see macros/incremental_events.sql and docs/incremental.md. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='event_id',
        on_schema_change='fail',
        pre_hook="{{ prm_warehouse.create_event_watermark() }}",
        post_hook=[
            "{{ prm_warehouse.delete_vanished_events(
                'content_views', 'event_id', 'occurred_at'
            ) }}",
            "{{ prm_warehouse.record_event_watermark('content_views') }}",
        ],
    )
}}

with

source as (
    select * from {{ source('portal', 'content_views') }}
),

{%- if is_incremental() %}

changed_keys as (
    {{ prm_warehouse.changed_event_keys(
        'source', 'content_views', 'event_id', 'occurred_at'
    ) }}
),

deduplicated as (
    {{ prm_warehouse.latest_delivered_rows('source', 'event_id', only_keys='changed_keys') }}
),

{%- else %}

deduplicated as (
    {{ prm_warehouse.latest_delivered_rows('source', 'event_id') }}
),

{%- endif %}

final as (
    select
        event_id,
        user_id,
        content_id,
        occurred_at,
        {{ prm_warehouse.jst_date('occurred_at') }} as occurred_on,
        lower(trim(action)) as action,
        duration_sec,
        _file_name,
        _line_number
    from deduplicated
)

select * from final
