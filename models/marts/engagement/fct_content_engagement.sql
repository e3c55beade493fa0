with

content_views as (
    select * from {{ ref('int_content_views_enriched') }}
),

monthly as (
    select
        content_id,
        cast({{ dbt.date_trunc('month', 'occurred_on') }} as date) as month_start,
        max(content_type) as content_type,
        max(industry) as industry,
        sum(case when is_view then 1 else 0 end) as views,
        sum(case when is_download then 1 else 0 end) as downloads,
        count(distinct case when is_view then individual_id end) as unique_viewers
    from content_views
    group by content_id, cast({{ dbt.date_trunc('month', 'occurred_on') }} as date)
),

final as (
    select
        cast(content_id as varchar) as content_id,
        month_start,
        cast(content_type as varchar) as content_type,
        cast(industry as varchar) as industry,
        cast(views as bigint) as views,
        cast(downloads as bigint) as downloads,
        cast(unique_viewers as bigint) as unique_viewers
    from monthly
)

select * from final
