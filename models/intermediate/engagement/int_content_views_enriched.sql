-- Content views and downloads on or before the as-of date, with the material's type and
-- industry and the viewer's firm. An event with no action counts as a view.
--
-- A view: DuckDB joins the events with the two small snapshots in a fraction of the time
-- it takes to write millions of rows, and each model that reads this one needs only some
-- of its rows and columns.
{{ config(materialized='view') }}

with

content_views as (
    select * from {{ ref('stg_portal__content_views') }}
),

contents as (
    select * from {{ ref('stg_portal__contents') }}
),

individuals as (
    select * from {{ ref('stg_portal__partner_users') }}
),

final as (
    select
        content_views.event_id,
        content_views.user_id as individual_id,
        individuals.partner_id,
        content_views.content_id,
        contents.content_type,
        contents.industry,
        content_views.occurred_at,
        content_views.occurred_on,
        coalesce(content_views.action, 'view') = 'view' as is_view,
        coalesce(content_views.action = 'download', false) as is_download,
        coalesce(contents.content_type = 'talk_script', false) as is_talk_script
    from content_views
    left join contents
        on content_views.content_id = contents.content_id
    left join individuals
        on content_views.user_id = individuals.user_id
    where content_views.occurred_on <= {{ prm_warehouse.as_of_date() }}
)

select * from final
