{#- Incremental: see macros/incremental_events.sql and docs/incremental.md. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='attempt_id',
        on_schema_change='fail',
        pre_hook="{{ prm_warehouse.create_event_watermark() }}",
        post_hook=[
            "{{ prm_warehouse.delete_vanished_events(
                'quiz_attempts', 'attempt_id', 'submitted_at'
            ) }}",
            "{{ prm_warehouse.record_event_watermark('quiz_attempts') }}",
        ],
    )
}}

with

source as (
    select * from {{ source('portal', 'quiz_attempts') }}
),

{%- if is_incremental() %}

changed_keys as (
    {{ prm_warehouse.changed_event_keys(
        'source', 'quiz_attempts', 'attempt_id', 'submitted_at'
    ) }}
),

deduplicated as (
    {{ prm_warehouse.latest_delivered_rows('source', 'attempt_id', only_keys='changed_keys') }}
),

{%- else %}

deduplicated as (
    {{ prm_warehouse.latest_delivered_rows('source', 'attempt_id') }}
),

{%- endif %}

final as (
    select
        attempt_id,
        user_id,
        quiz_id,
        submitted_at,
        {{ prm_warehouse.jst_date('submitted_at') }} as submitted_on,
        score,
        _file_name,
        _line_number
    from deduplicated
)

select * from final
