-- Fails when priority_rank of the support list is not exactly 1..n (n = rows), or when a
-- person appears without a reason. A failure means the tie-breaker no longer makes ranks
-- unique or people without reasons leak into the list.
with

support_list as (
    select * from {{ ref('fct_support_priority') }}
),

rank_check as (
    select
        'rank is not 1..n' as failure,
        cast(null as varchar) as individual_id
    from support_list
    having
        count(*) > 0
        and (min(priority_rank) <> 1 or max(priority_rank) <> count(*))
),

reason_check as (
    select
        'no reason' as failure,
        individual_id
    from support_list
    where
        stalled_deal_count = 0
        and overdue_planned_approach_count = 0
        and approach_without_proposal_count = 0
        and not has_no_recent_talk_script_view
        and failed_quiz_count = 0
        and not is_going_dormant
)

select * from rank_check
union all
select * from reason_check
