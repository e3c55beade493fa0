{#- A table, not a view: the tests of this model and the models that read it would each
    pick the newest snapshot out of every delivered one again. -#}
{{ config(materialized='table') }}

with

source as (
    select * from {{ source('portal', 'contents') }}
),

quarantine as (
    select * from {{ source('portal', '_quarantine') }}
),

latest as (
    {{ prm_warehouse.latest_snapshot_rows(
        'source', 'content_id', quarantine='quarantine', source_name='contents'
    ) }}
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
