{#- A table, not a view: the tests of this model and the models that read it would each
    pick the newest snapshot out of every delivered one again. -#}
{{ config(materialized='table') }}

with

source as (
    select * from {{ source('portal', 'partners') }}
),

quarantine as (
    select * from {{ source('portal', '_quarantine') }}
),

latest as (
    {{ prm_warehouse.latest_snapshot_rows(
        'source', 'partner_id', quarantine='quarantine', source_name='partners'
    ) }}
),

final as (
    select
        partner_id,
        trim(partner_name) as partner_name,
        trim(prefecture) as prefecture,
        trim(office_size_band) as office_size_band,
        advisor_rank,
        joined_program_on,
        updated_at,
        _file_name,
        _line_number
    from latest
)

select * from final
