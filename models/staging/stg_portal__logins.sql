with

source as (
    select * from {{ source('portal', 'logins') }}
),

deduplicated as (
    {{ prm_warehouse.latest_delivered_rows('source', 'event_id') }}
),

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
