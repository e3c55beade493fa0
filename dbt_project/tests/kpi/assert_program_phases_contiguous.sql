-- The programme phases follow each other without overlap or gap: ordered by starts_on,
-- every phase ends (ends_on, included) the day before the next one starts, no phase ends
-- before it starts, and only the last phase may be open-ended (empty ends_on).
-- A failing row is a phase that overlaps the next one, leaves days before it that belong
-- to no phase, or is open-ended while another phase follows: a month would have two
-- phases or none, and its focus KPIs would be wrong.
with

program_phases as (
    select * from {{ ref('program_phases') }}
),

sequenced as (
    select
        phase_key,
        starts_on,
        ends_on,
        lead(starts_on) over (order by starts_on) as next_starts_on
    from program_phases
),

final as (
    select * from sequenced
    where
        (ends_on is not null and ends_on < starts_on)
        or (next_starts_on is not null and ends_on is null)
        or (
            next_starts_on is not null
            and cast({{ dbt.dateadd('day', 1, 'ends_on') }} as date) <> next_starts_on
        )
)

select * from final
