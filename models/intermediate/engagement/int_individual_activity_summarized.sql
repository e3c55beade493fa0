-- One row per person, as of the as-of date: the engagement components over the 90 days up to
-- and including the as-of date (as_of_date - 89 .. as_of_date, Japan-time dates) and the
-- date of the person's latest talk-script view. Deals and their stage entries are those the
-- funnel counts (fct_deal_funnel) and count for the deal's current owner, as in every
-- funnel count. People of a firm missing from the partners snapshot are left out, as in
-- dim_partner_individual.

{% set as_of = prm_warehouse.as_of_date() %}
{% set window_start = 'cast(' ~ dbt.dateadd('day', -89, as_of) ~ ' as date)' %}

with

partner_users as (
    select * from {{ ref('stg_portal__partner_users') }}
),

partners as (
    select * from {{ ref('stg_portal__partners') }}
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

deal_funnel as (
    select * from {{ ref('fct_deal_funnel') }}
),

individuals as (
    select
        partner_users.user_id,
        partner_users.partner_id
    from partner_users
    inner join partners
        on partner_users.partner_id = partners.partner_id
),

logins_as_of as (
    select
        user_id as individual_id,
        occurred_on
    from logins
    where occurred_on <= {{ as_of }}
),

login_summary as (
    select
        individual_id,
        count(distinct case when occurred_on >= {{ window_start }} then occurred_on end)
            as login_days
    from logins_as_of
    group by individual_id
),

content_summary as (
    select
        individual_id,
        sum(
            case when is_view and occurred_on >= {{ window_start }} then 1 else 0 end
        ) as content_views,
        count(
            distinct case
                when is_view and occurred_on >= {{ window_start }} then content_id
            end
        ) as distinct_contents_viewed,
        sum(
            case
                when is_view and is_talk_script and occurred_on >= {{ window_start }} then 1
                else 0
            end
        ) as talk_script_views,
        max(case when is_view and is_talk_script then occurred_on end)
            as last_talk_script_view_on
    from content_views
    group by individual_id
),

lessons_in_window as (
    select distinct
        user_id,
        course_id,
        lesson_id
    from lesson_completions
    where completed_on between {{ window_start }} and {{ as_of }}
),

lesson_summary as (
    select
        user_id as individual_id,
        count(*) as lessons_completed
    from lessons_in_window
    group by user_id
),

quiz_summary as (
    select
        individual_id,
        count(*) as quizzes_passed
    from quiz_results
    where passed_on between {{ window_start }} and {{ as_of }}
    group by individual_id
),

deals_registered_as_of as (
    select
        individual_id,
        {{ prm_warehouse.jst_date('registered_at') }} as registered_on
    from deal_funnel
),

deal_summary as (
    select
        individual_id,
        count(*) as deals_registered
    from deals_registered_as_of
    where registered_on between {{ window_start }} and {{ as_of }}
    group by individual_id
),

stage_entries as (
    {% for stage in ['approach_planned', 'approach', 'proposal', 'proposal_agreed', 'won'] %}
    select
        individual_id,
        {{ prm_warehouse.jst_date(stage ~ '_entered_at') }} as entered_on
    from deal_funnel
    where {{ stage }}_entered_at is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

stage_entry_summary as (
    select
        individual_id,
        count(*) as stage_entries
    from stage_entries
    where entered_on between {{ window_start }} and {{ as_of }}
    group by individual_id
),

final as (
    select
        individuals.user_id as individual_id,
        individuals.partner_id,
        {{ as_of }} as as_of_date,
        {{ window_start }} as window_start_on,
        coalesce(login_summary.login_days, 0) as login_days,
        coalesce(content_summary.content_views, 0) as content_views,
        coalesce(content_summary.distinct_contents_viewed, 0) as distinct_contents_viewed,
        coalesce(content_summary.talk_script_views, 0) as talk_script_views,
        coalesce(lesson_summary.lessons_completed, 0) as lessons_completed,
        coalesce(quiz_summary.quizzes_passed, 0) as quizzes_passed,
        coalesce(deal_summary.deals_registered, 0) as deals_registered,
        coalesce(stage_entry_summary.stage_entries, 0) as stage_entries,
        content_summary.last_talk_script_view_on
    from individuals
    left join login_summary
        on individuals.user_id = login_summary.individual_id
    left join content_summary
        on individuals.user_id = content_summary.individual_id
    left join lesson_summary
        on individuals.user_id = lesson_summary.individual_id
    left join quiz_summary
        on individuals.user_id = quiz_summary.individual_id
    left join deal_summary
        on individuals.user_id = deal_summary.individual_id
    left join stage_entry_summary
        on individuals.user_id = stage_entry_summary.individual_id
)

select * from final
