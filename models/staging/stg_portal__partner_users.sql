{#- A table, not a view: the tests of this model and the models that read it would each
    pick the newest snapshot out of every delivered one again. -#}
{{ config(materialized='table') }}

with

source as (
    select * from {{ source('portal', 'partner_users') }}
),

quarantine as (
    select * from {{ source('portal', '_quarantine') }}
),

latest as (
    {{ prm_warehouse.latest_snapshot_rows(
        'source', 'user_id', quarantine='quarantine', source_name='partner_users'
    ) }}
),

final as (
    select
        user_id,
        partner_id,
        trim(full_name) as full_name,
        trim(email) as email,
        trim(job_role) as job_role,
        is_certified,
        account_issued_at,
        lower(trim(status)) as user_status,
        updated_at,
        _file_name,
        _line_number
    from latest
)

select * from final
