-- Key persons per firm as of the as-of date: how many, and whether the firm has none, one or
-- several. Every firm appears, also a firm with no people.

with

partners as (
    select * from {{ ref('stg_portal__partners') }}
),

key_person_engagement as (
    select * from {{ ref('fct_key_person_engagement') }}
),

firm_summary as (
    select
        partner_id,
        count(*) as individual_count,
        sum(case when is_key_person then 1 else 0 end) as key_person_count,
        max(engagement_score) as top_engagement_score
    from key_person_engagement
    group by partner_id
),

final as (
    select
        cast(partners.partner_id as varchar) as partner_id,
        {{ prm_warehouse.as_of_date() }} as as_of_date,
        cast(coalesce(firm_summary.individual_count, 0) as bigint) as individual_count,
        cast(coalesce(firm_summary.key_person_count, 0) as bigint) as key_person_count,
        cast(firm_summary.top_engagement_score as double) as top_engagement_score,
        cast(
            case
                when coalesce(firm_summary.key_person_count, 0) = 0 then 'none'
                when firm_summary.key_person_count = 1 then 'one'
                else 'several'
            end as varchar
        ) as coverage_band
    from partners
    left join firm_summary
        on partners.partner_id = firm_summary.partner_id
)

select * from final
