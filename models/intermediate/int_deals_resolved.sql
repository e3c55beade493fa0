-- Deals of the current snapshot that the marts may count: the firm and the owner are known
-- (present in the current partners and partner_users snapshots) and the deal was registered
-- on or before the as-of date. Deals that name an unknown firm or person are reported by
-- int_reference_violations instead.
with

deals as (
    select * from {{ ref('stg_portal__deals') }}
),

partners as (
    select * from {{ ref('stg_portal__partners') }}
),

partner_users as (
    select * from {{ ref('stg_portal__partner_users') }}
),

resolved as (
    select
        deals.deal_id,
        deals.partner_id,
        deals.owner_user_id,
        deals.client_industry,
        deals.client_size_band,
        deals.status_label,
        deals.approach_planned_on,
        deals.registered_at,
        deals.registered_on,
        deals.updated_at
    from deals
    inner join partners
        on deals.partner_id = partners.partner_id
    inner join partner_users
        on deals.owner_user_id = partner_users.user_id
),

final as (
    select * from resolved
    where registered_on <= {{ prm_warehouse.as_of_date() }}
)

select * from final
