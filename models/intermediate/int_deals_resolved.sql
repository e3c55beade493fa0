-- Deals of the current snapshot that the marts may count: the firm is known, the owner is a
-- known person of a known firm (present in the current partner_users snapshot, their firm in
-- the current partners snapshot: a person of dim_partner_individual), and the deal was
-- registered on or before the as-of date. A deal that names an unknown firm or person is
-- reported by int_reference_violations; a deal whose owner belongs to an unknown firm is
-- left out with its owner, whose partner_users row int_reference_violations reports.
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

owners as (
    select partner_users.user_id
    from partner_users
    inner join partners
        on partner_users.partner_id = partners.partner_id
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
    inner join owners
        on deals.owner_user_id = owners.user_id
),

final as (
    select * from resolved
    where registered_on <= {{ prm_warehouse.as_of_date() }}
)

select * from final
