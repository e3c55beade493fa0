-- One row per firm of the current partners snapshot, with its people counts as of the
-- as-of date: all, active, per lifecycle stage, and key persons
-- (fct_partner_key_person_coverage).
with

partners as (
    select * from {{ ref('stg_portal__partners') }}
),

individuals as (
    select * from {{ ref('int_partner_individuals_enriched') }}
),

key_person_coverage as (
    select * from {{ ref('fct_partner_key_person_coverage') }}
),

individual_counts as (
    select
        partner_id,
        count(*) as individual_count,
        count(case when is_active_30d then 1 end) as active_individual_count,
        count(case when lifecycle_stage = 'invited' then 1 end) as invited_count,
        count(case when lifecycle_stage = 'onboarded' then 1 end) as onboarded_count,
        count(case when lifecycle_stage = 'activated' then 1 end) as activated_count,
        count(case when lifecycle_stage = 'dormant' then 1 end) as dormant_count
    from individuals
    group by partner_id
),

final as (
    select
        partners.partner_id,
        partners.partner_name,
        partners.prefecture,
        partners.office_size_band,
        cast(partners.advisor_rank as {{ dbt.type_bigint() }}) as advisor_rank,
        partners.joined_program_on,
        coalesce(individual_counts.individual_count, 0) as individual_count,
        coalesce(individual_counts.active_individual_count, 0) as active_individual_count,
        coalesce(individual_counts.invited_count, 0) as invited_count,
        coalesce(individual_counts.onboarded_count, 0) as onboarded_count,
        coalesce(individual_counts.activated_count, 0) as activated_count,
        coalesce(individual_counts.dormant_count, 0) as dormant_count,
        cast(
            coalesce(key_person_coverage.key_person_count, 0) as {{ dbt.type_bigint() }}
        ) as key_person_count
    from partners
    left join individual_counts
        on partners.partner_id = individual_counts.partner_id
    left join key_person_coverage
        on partners.partner_id = key_person_coverage.partner_id
)

select * from final
