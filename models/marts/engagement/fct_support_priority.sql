-- Whom the partner team should support first, and why: one row per person with at least one
-- reason as of the as-of date. Reasons, points and thresholds come from the seed
-- support_priority_rules; see the support_priority doc block.

{% set as_of = prm_warehouse.as_of_date() %}
{% set reasons = [
    'stalled_deal',
    'overdue_planned_approach',
    'approach_without_proposal',
    'no_recent_talk_script_view',
    'failed_quiz',
    'going_dormant',
] %}

with

-- people of known firms with their lifecycle stage and latest activity
individuals as (
    select * from {{ ref('int_partner_individuals_enriched') }}
),

deal_funnel as (
    select * from {{ ref('fct_deal_funnel') }}
),

activity as (
    select * from {{ ref('int_individual_activity_summarized') }}
),

learning as (
    select * from {{ ref('int_individual_learning_summarized') }}
),

contents as (
    select * from {{ ref('stg_portal__contents') }}
),

rules as (
    select * from {{ ref('support_priority_rules') }}
),

reason_rules as (
    select
        rule_key as reason_code,
        weight,
        sort_order,
        next_action
    from rules
    where rule_type = 'reason'
),

settings as (
    select
        max(case when rule_key = 'approach_without_proposal' then threshold_days end)
            as approach_without_proposal_days,
        max(case when rule_key = 'no_recent_talk_script_view' then threshold_days end)
            as talk_script_lookback_days,
        max(case when rule_key = 'no_recent_talk_script_view' then threshold_count end)
            as talk_script_min_proposals,
        max(case when rule_key = 'going_dormant' then threshold_days end)
            as going_dormant_days,
        max(case when rule_key = 'suggest_talk_script' then threshold_count end)
            as talk_script_min_stalled_deals
    from rules
),

deals_as_of as (
    select
        deal_id,
        individual_id,
        client_industry,
        approach_planned_on,
        is_open,
        is_stalled,
        case
            when {{ prm_warehouse.jst_date('approach_entered_at') }} <= {{ as_of }}
                then {{ prm_warehouse.jst_date('approach_entered_at') }}
        end as approach_entered_on,
        case
            when {{ prm_warehouse.jst_date('proposal_entered_at') }} <= {{ as_of }}
                then {{ prm_warehouse.jst_date('proposal_entered_at') }}
        end as proposal_entered_on
    from deal_funnel
    where individual_id is not null
),

deal_reasons as (
    select
        deals_as_of.individual_id,
        sum(case when deals_as_of.is_stalled then 1 else 0 end) as stalled_deal_count,
        sum(
            case
                when
                    deals_as_of.is_open
                    and deals_as_of.approach_planned_on < {{ as_of }}
                    and deals_as_of.approach_entered_on is null
                    then 1
                else 0
            end
        ) as overdue_planned_approach_count,
        sum(
            case
                when
                    deals_as_of.is_open
                    and deals_as_of.proposal_entered_on is null
                    and {{ dbt.datediff('deals_as_of.approach_entered_on', as_of, 'day') }}
                    > settings.approach_without_proposal_days
                    then 1
                else 0
            end
        ) as approach_without_proposal_count,
        sum(
            case
                when deals_as_of.is_open and deals_as_of.proposal_entered_on is null then 1
                else 0
            end
        ) as deals_awaiting_proposal_count,
        sum(
            case
                when
                    {{ dbt.datediff('deals_as_of.proposal_entered_on', as_of, 'day') }}
                    < settings.talk_script_lookback_days
                    then 1
                else 0
            end
        ) as recent_proposal_count
    from deals_as_of
    cross join settings
    group by deals_as_of.individual_id
),

person_reasons as (
    select
        individuals.individual_id,
        individuals.partner_id,
        coalesce(deal_reasons.stalled_deal_count, 0) as stalled_deal_count,
        coalesce(deal_reasons.overdue_planned_approach_count, 0)
            as overdue_planned_approach_count,
        coalesce(deal_reasons.approach_without_proposal_count, 0)
            as approach_without_proposal_count,
        -- a deal waits for a proposal, fewer proposals than the threshold in the look-back
        -- window, and no talk script viewed in that window
        coalesce(
            deal_reasons.deals_awaiting_proposal_count > 0
            and deal_reasons.recent_proposal_count < settings.talk_script_min_proposals
            and (
                activity.last_talk_script_view_on is null
                or {{ dbt.datediff('activity.last_talk_script_view_on', as_of, 'day') }}
                >= settings.talk_script_lookback_days
            ),
            false
        ) as has_no_recent_talk_script_view,
        coalesce(learning.quizzes_failed, 0) as failed_quiz_count,
        -- still activated (the lifecycle stage) but no activity for at least
        -- going_dormant_days: the last activity lies that many days or more before the as-of
        -- date
        coalesce(
            individuals.lifecycle_stage = 'activated'
            and {{ dbt.datediff('individuals.last_activity_on', as_of, 'day') }}
            >= settings.going_dormant_days,
            false
        ) as is_going_dormant,
        individuals.last_activity_on
    from individuals
    cross join settings
    left join deal_reasons
        on individuals.individual_id = deal_reasons.individual_id
    left join activity
        on individuals.individual_id = activity.individual_id
    left join learning
        on individuals.individual_id = learning.individual_id
),

reason_items as (
    {% for reason in reasons %}
    {%- if reason == 'no_recent_talk_script_view' -%}
    {%- set item_count = 'case when has_no_recent_talk_script_view then 1 else 0 end' -%}
    {%- elif reason == 'going_dormant' -%}
    {%- set item_count = 'case when is_going_dormant then 1 else 0 end' -%}
    {%- else -%}
    {%- set item_count = reason ~ '_count' -%}
    {%- endif %}
    select
        individual_id,
        '{{ reason }}' as reason_code,
        {{ item_count }} as item_count
    from person_reasons
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

scored_reasons as (
    select
        reason_items.individual_id,
        reason_items.reason_code,
        reason_items.item_count,
        reason_rules.sort_order,
        reason_rules.next_action,
        reason_rules.weight * reason_items.item_count as points,
        row_number() over (
            partition by reason_items.individual_id
            order by reason_rules.weight * reason_items.item_count desc, reason_rules.sort_order
        ) as action_rank
    from reason_items
    inner join reason_rules
        on reason_items.reason_code = reason_rules.reason_code
    where reason_items.item_count > 0
),

person_scores as (
    select
        individual_id,
        round(sum(points), 2) as priority_score,
        {{ dbt.listagg('reason_code', "','", 'order by sort_order') }} as reason_codes,
        max(case when action_rank = 1 then next_action end) as suggested_next_action
    from scored_reasons
    group by individual_id
),

-- the client industry shared by most of the person's stalled deals (at least the setting's
-- count), and the newest published talk script for it
stalled_industries as (
    select
        deals_as_of.individual_id,
        deals_as_of.client_industry,
        count(*) as stalled_deal_count,
        row_number() over (
            partition by deals_as_of.individual_id
            order by count(*) desc, deals_as_of.client_industry
        ) as industry_rank
    from deals_as_of
    cross join settings
    where deals_as_of.is_stalled and deals_as_of.client_industry is not null
    group by deals_as_of.individual_id, deals_as_of.client_industry
    having count(*) >= max(settings.talk_script_min_stalled_deals)
),

industry_talk_scripts as (
    select
        content_id,
        title,
        industry,
        row_number() over (
            partition by industry
            order by published_at desc nulls last, content_id asc
        ) as script_rank
    from contents
    where
        content_type = 'talk_script'
        and industry is not null
        and (published_at is null or {{ prm_warehouse.jst_date('published_at') }} <= {{ as_of }})
),

suggested_scripts as (
    select
        stalled_industries.individual_id,
        stalled_industries.client_industry,
        industry_talk_scripts.content_id,
        industry_talk_scripts.title
    from stalled_industries
    inner join industry_talk_scripts
        on
            stalled_industries.client_industry = industry_talk_scripts.industry
            and industry_talk_scripts.script_rank = 1
    where stalled_industries.industry_rank = 1
),

ranked as (
    select
        person_reasons.*,
        person_scores.priority_score,
        person_scores.reason_codes,
        person_scores.suggested_next_action,
        suggested_scripts.client_industry as suggested_talk_script_industry,
        suggested_scripts.content_id as suggested_talk_script_id,
        suggested_scripts.title as suggested_talk_script_title,
        row_number() over (
            order by
                person_scores.priority_score desc,
                person_reasons.stalled_deal_count desc,
                person_reasons.overdue_planned_approach_count desc,
                person_reasons.individual_id asc
        ) as priority_rank
    from person_reasons
    inner join person_scores
        on person_reasons.individual_id = person_scores.individual_id
    left join suggested_scripts
        on person_reasons.individual_id = suggested_scripts.individual_id
),

final as (
    select
        cast(individual_id as varchar) as individual_id,
        cast(partner_id as varchar) as partner_id,
        {{ as_of }} as as_of_date,
        cast(priority_rank as bigint) as priority_rank,
        cast(priority_score as double) as priority_score,
        cast(stalled_deal_count as bigint) as stalled_deal_count,
        cast(overdue_planned_approach_count as bigint) as overdue_planned_approach_count,
        cast(approach_without_proposal_count as bigint) as approach_without_proposal_count,
        has_no_recent_talk_script_view,
        cast(failed_quiz_count as bigint) as failed_quiz_count,
        is_going_dormant,
        last_activity_on,
        cast(reason_codes as varchar) as reason_codes,
        cast(suggested_next_action as varchar) as suggested_next_action,
        cast(suggested_talk_script_industry as varchar) as suggested_talk_script_industry,
        cast(suggested_talk_script_id as varchar) as suggested_talk_script_id,
        cast(suggested_talk_script_title as varchar) as suggested_talk_script_title
    from ranked
)

select * from final
