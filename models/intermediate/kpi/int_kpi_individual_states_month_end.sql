-- One row per person of a known firm and KPI month: the person's state on the month's
-- evaluation date E (the month's last day, or the as-of date for the current month).
-- * is_activated: the lifecycle rule of int_partner_individuals_enriched applied on E: at
--   least one owned deal registered on or before E, and a login, a registration of an owned
--   deal or a status change of an owned deal on one of the 90 dates ending on E.
-- * A deal is owned by the person who held it on E (int_kpi_deal_owners_month_end): its
--   current owner in the current month, the owner of the time in a closed month, so a
--   later handover does not move a closed month's states.
-- * engagement_score and is_key_person: the scoring of fct_key_person_engagement applied
--   to the 90 dates ending on E (same components, engagement_weights seed, thresholds and
--   rounding). For the current month E is the as-of date and the flags equal
--   fct_key_person_engagement.is_key_person; the test
--   assert_kpi_key_persons_match_engagement_mart holds the two definitions together.
{%- set components = [
    'login_days',
    'content_views',
    'distinct_contents_viewed',
    'talk_script_views',
    'lessons_completed',
    'quizzes_passed',
    'deals_registered',
    'stage_entries',
] %}
{%- set window_start = 'cast(' ~ dbt.dateadd('day', -89, 'months.evaluation_on') ~ ' as date)' %}
{%- set owned_window_start = 'cast(' ~ dbt.dateadd('day', -89, 'owned_deals.evaluation_on')
    ~ ' as date)' %}

with

individuals as (
    select * from {{ ref('int_partner_individuals_enriched') }}
),

months as (
    select * from {{ ref('int_kpi_months') }}
),

logins as (
    select * from {{ ref('stg_portal__logins') }}
),

content_views as (
    select * from {{ ref('int_content_views_enriched') }}
),

lesson_completions as (
    select * from {{ ref('stg_portal__lesson_completions') }}
),

quiz_results as (
    select * from {{ ref('int_quiz_results_summarized') }}
),

deals as (
    select * from {{ ref('int_deals_resolved') }}
),

deal_owners as (
    select * from {{ ref('int_kpi_deal_owners_month_end') }}
),

stage_entries as (
    select * from {{ ref('int_deal_stage_entries_unpivoted') }}
),

status_events as (
    select * from {{ ref('int_deal_status_events_validated') }}
),

engagement_weights as (
    select * from {{ ref('engagement_weights') }}
),

person_months as (
    select
        individuals.individual_id,
        individuals.partner_id,
        months.month_start,
        months.evaluation_on
    from individuals
    cross join months
),

login_days as (
    select distinct
        user_id as individual_id,
        occurred_on
    from logins
),

login_summary as (
    select
        months.month_start,
        login_days.individual_id,
        count(*) as login_days
    from login_days
    inner join months
        on login_days.occurred_on between {{ window_start }} and months.evaluation_on
    group by
        months.month_start,
        login_days.individual_id
),

content_summary as (
    select
        months.month_start,
        content_views.individual_id,
        count(*) as content_views,
        count(distinct content_views.content_id) as distinct_contents_viewed,
        sum(case when content_views.is_talk_script then 1 else 0 end) as talk_script_views
    from content_views
    inner join months
        on content_views.occurred_on between {{ window_start }} and months.evaluation_on
    where content_views.is_view
    group by
        months.month_start,
        content_views.individual_id
),

lesson_summary as (
    select
        months.month_start,
        lesson_completions.user_id as individual_id,
        count(
            distinct(
                {{ dbt.concat(['lesson_completions.course_id', "'/'",
                               'lesson_completions.lesson_id']) }}
            )
        ) as lessons_completed
    from lesson_completions
    inner join months
        on lesson_completions.completed_on between {{ window_start }} and months.evaluation_on
    group by
        months.month_start,
        lesson_completions.user_id
),

quiz_summary as (
    select
        months.month_start,
        quiz_results.individual_id,
        count(*) as quizzes_passed
    from quiz_results
    inner join months
        on quiz_results.passed_on between {{ window_start }} and months.evaluation_on
    group by
        months.month_start,
        quiz_results.individual_id
),

owned_deals as (
    select
        months.month_start,
        months.evaluation_on,
        deal_owners.owner_user_id as individual_id,
        deals.deal_id,
        deals.registered_on
    from deals
    inner join deal_owners
        on deals.deal_id = deal_owners.deal_id
    inner join months
        on deal_owners.month_start = months.month_start
),

deal_summary as (
    select
        owned_deals.month_start,
        owned_deals.individual_id,
        count(*) as deals_registered
    from owned_deals
    where
        owned_deals.registered_on
        between {{ owned_window_start }} and owned_deals.evaluation_on
    group by
        owned_deals.month_start,
        owned_deals.individual_id
),

stage_entry_summary as (
    select
        owned_deals.month_start,
        owned_deals.individual_id,
        count(*) as stage_entries
    from stage_entries
    inner join owned_deals
        on stage_entries.deal_id = owned_deals.deal_id
    where
        stage_entries.entered_on
        between {{ owned_window_start }} and owned_deals.evaluation_on
    group by
        owned_deals.month_start,
        owned_deals.individual_id
),

recent_activity as (
    select
        months.month_start,
        login_days.individual_id
    from login_days
    inner join months
        on login_days.occurred_on between {{ window_start }} and months.evaluation_on
    union
    select
        owned_deals.month_start,
        owned_deals.individual_id
    from owned_deals
    where
        owned_deals.registered_on
        between {{ owned_window_start }} and owned_deals.evaluation_on
    union
    select
        owned_deals.month_start,
        owned_deals.individual_id
    from status_events
    inner join owned_deals
        on status_events.deal_id = owned_deals.deal_id
    where
        status_events.changed_on
        between {{ owned_window_start }} and owned_deals.evaluation_on
),

first_registrations as (
    select
        month_start,
        individual_id,
        min(registered_on) as first_registered_on
    from owned_deals
    group by
        month_start,
        individual_id
),

components as (
    select
        person_months.individual_id,
        person_months.partner_id,
        person_months.month_start,
        person_months.evaluation_on,
        coalesce(login_summary.login_days, 0) as login_days,
        coalesce(content_summary.content_views, 0) as content_views,
        coalesce(content_summary.distinct_contents_viewed, 0) as distinct_contents_viewed,
        coalesce(content_summary.talk_script_views, 0) as talk_script_views,
        coalesce(lesson_summary.lessons_completed, 0) as lessons_completed,
        coalesce(quiz_summary.quizzes_passed, 0) as quizzes_passed,
        coalesce(deal_summary.deals_registered, 0) as deals_registered,
        coalesce(stage_entry_summary.stage_entries, 0) as stage_entries,
        coalesce(
            first_registrations.first_registered_on <= person_months.evaluation_on
            and recent_activity.individual_id is not null,
            false
        ) as is_activated
    from person_months
    left join login_summary
        on
            person_months.month_start = login_summary.month_start
            and person_months.individual_id = login_summary.individual_id
    left join content_summary
        on
            person_months.month_start = content_summary.month_start
            and person_months.individual_id = content_summary.individual_id
    left join lesson_summary
        on
            person_months.month_start = lesson_summary.month_start
            and person_months.individual_id = lesson_summary.individual_id
    left join quiz_summary
        on
            person_months.month_start = quiz_summary.month_start
            and person_months.individual_id = quiz_summary.individual_id
    left join deal_summary
        on
            person_months.month_start = deal_summary.month_start
            and person_months.individual_id = deal_summary.individual_id
    left join stage_entry_summary
        on
            person_months.month_start = stage_entry_summary.month_start
            and person_months.individual_id = stage_entry_summary.individual_id
    left join recent_activity
        on
            person_months.month_start = recent_activity.month_start
            and person_months.individual_id = recent_activity.individual_id
    left join first_registrations
        on
            person_months.month_start = first_registrations.month_start
            and person_months.individual_id = first_registrations.individual_id
),

component_weights as (
    select
        name as component,
        weight,
        cap
    from engagement_weights
    where kind = 'component'
),

thresholds as (
    select
        max(case when name = 'key_person_firm_min_score' then min_score end)
            as firm_min_score,
        max(case when name = 'key_person_programme_min_score' then min_score end)
            as programme_min_score
    from engagement_weights
    where kind = 'threshold'
),

total_weight as (
    select sum(weight) as total_weight
    from component_weights
),

component_values as (
    {%- for component in components %}
    select
        month_start,
        individual_id,
        cast('{{ component }}' as {{ dbt.type_string() }}) as component,
        cast({{ component }} as double) as component_value
    from components
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

scores as (
    select
        component_values.month_start,
        component_values.individual_id,
        round(
            100.0 * sum(
                component_weights.weight
                * least(component_values.component_value, component_weights.cap)
                / component_weights.cap
            ) / max(total_weight.total_weight),
            2
        ) as engagement_score
    from component_values
    inner join component_weights
        on component_values.component = component_weights.component
    cross join total_weight
    group by
        component_values.month_start,
        component_values.individual_id
),

ranked as (
    select
        components.*,
        scores.engagement_score,
        dense_rank() over (
            partition by components.month_start, components.partner_id
            order by scores.engagement_score desc
        ) as rank_in_partner
    from components
    inner join scores
        on
            components.month_start = scores.month_start
            and components.individual_id = scores.individual_id
),

final as (
    select
        ranked.individual_id,
        ranked.partner_id,
        ranked.month_start,
        ranked.evaluation_on,
        ranked.is_activated,
        cast(ranked.engagement_score as double) as engagement_score,
        cast(ranked.rank_in_partner as bigint) as rank_in_partner,
        coalesce(
            (
                ranked.rank_in_partner = 1
                and ranked.engagement_score >= thresholds.firm_min_score
            )
            or ranked.engagement_score >= thresholds.programme_min_score,
            false
        ) as is_key_person
    from ranked
    cross join thresholds
)

select * from final
