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
                'logins', 'event_id', 'occurred_at'
            ) }}",
            "{{ prm_warehouse.record_event_watermark('logins') }}",
        ],
    )
}}

with

source as (
    select * from {{ source('portal', 'logins') }}
),

{%- if is_incremental() %}

changed_keys as (
    {{ prm_warehouse.changed_event_keys(
        'source', 'logins', 'event_id', 'occurred_at'
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
        occurred_at,
        {{ prm_warehouse.jst_date('occurred_at') }} as occurred_on,
        lower(trim(device)) as device,
        _file_name,
        _line_number
    from deduplicated
)

select * from final
