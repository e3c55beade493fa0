-- One row per deal the marts count (int_deals_resolved) and KPI month: the person who owned
-- the deal on the month's evaluation date, for the state KPIs of that month.
-- * Current month: the deal's current owner (as in fct_key_person_engagement).
-- * Closed month: the owner in the newest delivered deals snapshot dated on or before the
--   month's last day; when no snapshot is that old, the owner in the oldest snapshot.
--   Snapshots delivered later cannot change it, so a deal handed to a colleague after a
--   month closed still counts for the person who held it then, and the month's published
--   figures stay as they were.
-- Owner runs: consecutive snapshots of a deal with the same owner form one period
-- [valid_from, valid_to); the first period is open towards the past.
with

deal_snapshots as (
    select * from {{ source('portal', 'deals') }}
),

deals as (
    select * from {{ ref('int_deals_resolved') }}
),

months as (
    select * from {{ ref('int_kpi_months') }}
),

snapshot_copies as (
    select
        deal_snapshots.deal_id,
        deal_snapshots.owner_user_id,
        deal_snapshots._export_date as export_date,
        row_number() over (
            partition by deal_snapshots.deal_id, deal_snapshots._export_date
            order by deal_snapshots._file_name desc, deal_snapshots._line_number desc
        ) as copy_rank
    from deal_snapshots
    inner join deals
        on deal_snapshots.deal_id = deals.deal_id
),

snapshot_owners as (
    select
        deal_id,
        owner_user_id,
        export_date
    from snapshot_copies
    where copy_rank = 1
),

owner_changes as (
    select
        deal_id,
        owner_user_id,
        export_date,
        lag(owner_user_id) over (partition by deal_id order by export_date)
            as previous_owner_user_id,
        row_number() over (partition by deal_id order by export_date) as snapshot_number
    from snapshot_owners
),

owner_periods as (
    select
        deal_id,
        owner_user_id,
        case when snapshot_number > 1 then export_date end as valid_from,
        lead(export_date) over (partition by deal_id order by export_date) as valid_to
    from owner_changes
    where
        snapshot_number = 1
        or owner_user_id is distinct from previous_owner_user_id
),

closed_month_owners as (
    select
        owner_periods.deal_id,
        months.month_start,
        owner_periods.owner_user_id
    from owner_periods
    inner join months
        on
            (owner_periods.valid_from is null or owner_periods.valid_from <= months.month_end)
            and (owner_periods.valid_to is null or owner_periods.valid_to > months.month_end)
    where months.is_closed
),

current_month_owners as (
    select
        deals.deal_id,
        months.month_start,
        deals.owner_user_id
    from deals
    cross join months
    where not months.is_closed
),

unioned as (
    select * from closed_month_owners
    union all
    select * from current_month_owners
),

final as (
    select
        deal_id,
        month_start,
        owner_user_id
    from unioned
)

select * from final
