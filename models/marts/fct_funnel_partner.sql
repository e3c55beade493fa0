-- One row per firm and Japan-time date on which the firm had a funnel stage entry or one of
-- its people logged in. <stage>_count is the number of the firm's deals that entered the
-- stage that day (0 on login-only days); summed over the firm's rows of fct_funnel_person
-- it is the same figure. active_individual_count counts the firm's people who logged in
-- within the 30 days ending on that date (int_partner_active_individuals_counted).
{%- set stages = prm_warehouse.funnel_stages() %}

with

stage_entries as (
    select * from {{ ref('int_deal_stage_entries_unpivoted') }}
),

active_individuals as (
    select * from {{ ref('int_partner_active_individuals_counted') }}
),

entry_counts as (
    select
        partner_id,
        entered_on as activity_date,
        {%- for stage in stages %}
        count(case when stage = '{{ stage.key }}' then 1 end) as {{ stage.key }}_count
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from stage_entries
    group by
        partner_id,
        entered_on
),

final as (
    select
        active_individuals.partner_id,
        active_individuals.activity_date,
        {%- for stage in stages %}
        coalesce(entry_counts.{{ stage.key }}_count, 0) as {{ stage.key }}_count,
        {%- endfor %}
        active_individuals.active_individual_count
    from active_individuals
    left join entry_counts
        on
            active_individuals.partner_id = entry_counts.partner_id
            and active_individuals.activity_date = entry_counts.activity_date
)

select * from final
