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
                'deal_status_events', 'event_id', 'changed_at'
            ) }}",
            "{{ prm_warehouse.record_event_watermark('deal_status_events') }}",
        ],
    )
}}

with

source as (
    select * from {{ source('portal', 'deal_status_events') }}
),

{%- if is_incremental() %}

changed_keys as (
    {{ prm_warehouse.changed_event_keys(
        'source', 'deal_status_events', 'event_id', 'changed_at'
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
        deal_id,
        trim(status) as status_label,
        changed_at,
        {{ prm_warehouse.jst_date('changed_at') }} as changed_on,
        changed_by_user_id,
        _file_name,
        _line_number
    from deduplicated
)

select * from final
