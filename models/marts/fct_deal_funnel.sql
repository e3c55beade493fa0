-- One row per deal counted by the funnel as of the as-of date: its stage entries, current
-- status and open / lost / stalled flags (int_deals_enriched holds the rules).
{%- set stages = prm_warehouse.funnel_stages() %}

with

deals as (
    select * from {{ ref('int_deals_enriched') }}
),

final as (
    select
        deal_id,
        partner_id,
        owner_user_id as individual_id,
        client_industry,
        client_size_band,
        registered_at,
        current_status,
        current_status_label,
        max_stage,
        max_stage_rank,
        {%- for stage in stages %}
        {{ stage.key }}_entered_at,
        {%- endfor %}
        approach_planned_on,
        is_open,
        is_lost,
        is_stalled,
        days_in_max_stage
    from deals
)

select * from final
