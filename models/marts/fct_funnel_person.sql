-- One row per person, firm and Japan-time date on which at least one of the person's deals
-- entered a funnel stage; <stage>_count is the number of deals that entered the stage that
-- day. Entries count for the deal's current owner and the deal's firm, so a person has one
-- row per date unless they own deals of two firms.
{%- set stages = prm_warehouse.funnel_stages() %}

with

stage_entries as (
    select * from {{ ref('int_deal_stage_entries_unpivoted') }}
),

final as (
    select
        individual_id,
        partner_id,
        entered_on as activity_date,
        {%- for stage in stages %}
        count(case when stage = '{{ stage.key }}' then 1 end) as {{ stage.key }}_count
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from stage_entries
    group by
        individual_id,
        partner_id,
        entered_on
)

select * from final
