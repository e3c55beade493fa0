with

source as (
    select * from {{ source('portal', 'deal_status_events') }}
),

deduplicated as (
    {{ prm_warehouse.latest_delivered_rows('source', 'event_id') }}
),

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
