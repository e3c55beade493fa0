-- One row per deal and funnel stage it has entered: the entry with its Japan-time date,
-- attributed to the deal's current owner (individual_id) and its firm (partner_id).
-- Counting these rows per person or firm and date gives the <stage>_count columns.
{%- set stages = prm_warehouse.funnel_stages() %}

with

deals as (
    select * from {{ ref('int_deals_enriched') }}
),

{% for stage in stages -%}
{{ stage.key }}_entries as (
    select
        deal_id,
        owner_user_id as individual_id,
        partner_id,
        cast('{{ stage.key }}' as {{ dbt.type_string() }}) as stage,
        {{ stage.rank }} as stage_rank,
        {{ stage.key }}_entered_at as entered_at,
        {{ prm_warehouse.jst_date(stage.key ~ '_entered_at') }} as entered_on
    from deals
    where {{ stage.key }}_entered_at is not null
),

{% endfor -%}

final as (
    {%- for stage in stages %}
    select * from {{ stage.key }}_entries
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select * from final
