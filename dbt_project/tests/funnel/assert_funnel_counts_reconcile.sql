-- Counts reconcile (kpi-definitions.md): per firm, date and stage, the counts of
-- fct_funnel_person summed over the firm's people equal fct_funnel_partner, and the firm's
-- counts summed over all dates equal the stage entries of its deals in fct_deal_funnel.
-- A failing row names a firm, stage and date (NULL date: the firm's total) whose count
-- differs between two marts: an entry is lost, counted twice, or attributed to another
-- firm or date in one of them.
-- Reads several models; reported in Dagster as a check of fct_funnel_partner.
{{ config(meta={'dagster': {'ref': {'name': 'fct_funnel_partner'}}}) }}
{%- set stages = prm_warehouse.funnel_stages() %}

with

person_rows as (
    select * from {{ ref('fct_funnel_person') }}
),

partner_rows as (
    select * from {{ ref('fct_funnel_partner') }}
),

deals as (
    select * from {{ ref('fct_deal_funnel') }}
),

{% for stage in stages -%}
{{ stage.key }}_counts as (
    select
        'person' as mart,
        partner_id,
        activity_date,
        cast('{{ stage.key }}' as {{ dbt.type_string() }}) as stage,
        {{ stage.key }}_count as entry_count
    from person_rows
    union all
    select
        'partner' as mart,
        partner_id,
        activity_date,
        cast('{{ stage.key }}' as {{ dbt.type_string() }}) as stage,
        {{ stage.key }}_count as entry_count
    from partner_rows
    union all
    select
        'deal' as mart,
        partner_id,
        cast(null as date) as activity_date,
        cast('{{ stage.key }}' as {{ dbt.type_string() }}) as stage,
        1 as entry_count
    from deals
    where {{ stage.key }}_entered_at is not null
),

{% endfor -%}

all_counts as (
    {%- for stage in stages %}
    select * from {{ stage.key }}_counts
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

daily as (
    select
        partner_id,
        activity_date,
        stage,
        sum(case when mart = 'person' then entry_count else 0 end) as person_count,
        sum(case when mart = 'partner' then entry_count else 0 end) as partner_count
    from all_counts
    where mart in ('person', 'partner')
    group by
        partner_id,
        activity_date,
        stage
),

totals as (
    select
        partner_id,
        cast(null as date) as activity_date,
        stage,
        sum(case when mart = 'deal' then entry_count else 0 end) as deal_count,
        sum(case when mart = 'partner' then entry_count else 0 end) as partner_count
    from all_counts
    where mart in ('deal', 'partner')
    group by
        partner_id,
        stage
),

final as (
    select
        partner_id,
        activity_date,
        stage,
        'fct_funnel_person' as compared_with,
        person_count as other_count,
        partner_count
    from daily
    where person_count <> partner_count
    union all
    select
        partner_id,
        activity_date,
        stage,
        'fct_deal_funnel' as compared_with,
        deal_count as other_count,
        partner_count
    from totals
    where deal_count <> partner_count
)

select * from final
