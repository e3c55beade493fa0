{#- A table, not a view: the tests of this model and the models that read it would each
    pick the newest snapshot out of every delivered one again. -#}
{{ config(materialized='table') }}

with

source as (
    select * from {{ source('portal', 'deals') }}
),

quarantine as (
    select * from {{ source('portal', '_quarantine') }}
),

latest as (
    {{ prm_warehouse.latest_snapshot_rows(
        'source', 'deal_id', quarantine='quarantine', source_name='deals'
    ) }}
),

final as (
    select
        deal_id,
        partner_id,
        owner_user_id,
        trim(client_name) as client_name,
        trim(client_industry) as client_industry,
        trim(client_size_band) as client_size_band,
        trim(product_plan) as product_plan,
        trim(status) as status_label,
        approach_planned_on,
        registered_at,
        {{ prm_warehouse.jst_date('registered_at') }} as registered_on,
        updated_at,
        trim(lost_reason) as lost_reason,
        expected_mrr,
        _file_name,
        _line_number
    from latest
)

select * from final
