with

source as (
    select * from {{ source('portal', 'contents') }}
),

latest as (
    {{ prm_warehouse.latest_snapshot_rows('source', 'content_id') }}
),

final as (
    select
        content_id,
        trim(title) as title,
        lower(trim(content_type)) as content_type,
        trim(industry) as industry,
        trim(topic) as topic,
        published_at,
        _file_name,
        _line_number
    from latest
)

select * from final
