-- Every stage of the seed stage_stall_thresholds has, from its first valid_from on,
-- exactly one threshold valid on any date: its rows, ordered by valid_from, follow each
-- other without overlap or gap (valid_to, excluded, is the next row's valid_from) and only
-- the last row may be open-ended.
-- A failing row is a threshold row that overlaps the next one or leaves a gap before it:
-- deals would be stalled by two thresholds at once, or by none, on those dates.
with

thresholds as (
    select * from {{ ref('stage_stall_thresholds') }}
),

sequenced as (
    select
        stage,
        stall_after_days,
        valid_from,
        valid_to,
        lead(valid_from) over (partition by stage order by valid_from) as next_valid_from
    from thresholds
),

final as (
    select * from sequenced
    where
        (valid_to is not null and valid_to <= valid_from)
        or (next_valid_from is not null and valid_to is null)
        or (next_valid_from is not null and valid_to <> next_valid_from)
)

select * from final
