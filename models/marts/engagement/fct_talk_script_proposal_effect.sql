-- Do people who read a talk script before approaching a client make more proposals? For each
-- Japan-time month, the deals that entered approach in it are split by whether their owner
-- viewed a talk script in the 30 days before the approach (after approach_entered_at minus 30
-- days, up to and including approach_entered_at). proposal_rate is the cohort rate of the
-- KPI definitions: the share of those deals that entered proposal by the as-of date.

{% set as_of = prm_warehouse.as_of_date() %}

with

deal_funnel as (
    select * from {{ ref('fct_deal_funnel') }}
),

content_views as (
    select * from {{ ref('int_content_views_enriched') }}
),

approached_deals as (
    select
        deal_id,
        individual_id,
        approach_entered_at,
        cast(
            {{ dbt.date_trunc('month', prm_warehouse.jst_date('approach_entered_at')) }}
            as date
        ) as month_start,
        coalesce(
            {{ prm_warehouse.jst_date('proposal_entered_at') }} <= {{ as_of }}, false
        ) as has_entered_proposal
    from deal_funnel
    where
        approach_entered_at is not null
        and individual_id is not null
        and {{ prm_warehouse.jst_date('approach_entered_at') }} <= {{ as_of }}
),

-- The deals and the talk-script views of each person in time order; a view at the same
-- instant as an approach sorts first (it counts). For each deal, the person's latest view
-- at or before its approach, carried forward over that order.
owner_timeline as (
    select
        individual_id,
        occurred_at as happened_at,
        0 as is_approach,
        cast(null as {{ dbt.type_string() }}) as deal_id,
        occurred_at as viewed_at
    from content_views
    where is_view and is_talk_script
    union all
    select
        individual_id,
        approach_entered_at as happened_at,
        1 as is_approach,
        deal_id,
        cast(null as {{ dbt.type_timestamp() }}) as viewed_at
    from approached_deals
),

latest_views as (
    select
        deal_id,
        happened_at as approach_entered_at,
        is_approach,
        max(viewed_at) over (
            partition by individual_id
            order by happened_at, is_approach
            rows between unbounded preceding and current row
        ) as latest_viewed_at
    from owner_timeline
),

deals_viewed_before as (
    select distinct deal_id
    from latest_views
    where
        is_approach = 1
        and latest_viewed_at
        > {{ dbt.dateadd('day', -30, 'approach_entered_at') }}
),

grouped_deals as (
    select
        approached_deals.*,
        case
            when deals_viewed_before.deal_id is not null then 'viewed_talk_script'
            else 'no_talk_script_view'
        end as talk_script_group
    from approached_deals
    left join deals_viewed_before
        on approached_deals.deal_id = deals_viewed_before.deal_id
),

months as (
    select distinct month_start from grouped_deals
),

talk_script_groups as (
    select 'viewed_talk_script' as talk_script_group
    union all
    select 'no_talk_script_view' as talk_script_group
),

-- both groups for every month, so that an empty cohort shows as a row with a NULL rate
month_groups as (
    select
        months.month_start,
        talk_script_groups.talk_script_group
    from months
    cross join talk_script_groups
),

cohorts as (
    select
        month_start,
        talk_script_group,
        count(distinct individual_id) as individual_count,
        count(*) as approach_deal_count,
        sum(case when has_entered_proposal then 1 else 0 end) as proposal_deal_count
    from grouped_deals
    group by month_start, talk_script_group
),

final as (
    select
        month_groups.month_start,
        cast(month_groups.talk_script_group as varchar) as talk_script_group,
        cast(coalesce(cohorts.individual_count, 0) as bigint) as individual_count,
        cast(coalesce(cohorts.approach_deal_count, 0) as bigint) as approach_deal_count,
        cast(coalesce(cohorts.proposal_deal_count, 0) as bigint) as proposal_deal_count,
        cast(
            case
                when cohorts.approach_deal_count > 0
                    then 1.0 * cohorts.proposal_deal_count / cohorts.approach_deal_count
            end as double
        ) as proposal_rate
    from month_groups
    left join cohorts
        on
            month_groups.month_start = cohorts.month_start
            and month_groups.talk_script_group = cohorts.talk_script_group
)

select * from final
