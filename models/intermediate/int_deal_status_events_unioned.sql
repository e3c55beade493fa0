-- Every deal status event that counts as of the as-of date. Two kinds of event:
-- * history: the de-duplicated rows of deal_status_events;
-- * snapshot: the current status of the deals snapshot, as an event at the deal's
--   updated_at, when the history does not already hold that status at or after that time
--   (deals exported before the history existed).
-- An event counts when its Japan-time date is on or before the as-of date. file_name is
-- the delivered file the event was read from. Labels are not mapped here:
-- int_deal_status_events_mapped and int_deal_status_events_validated do that.
with

status_events as (
    select * from {{ ref('stg_portal__deal_status_events') }}
),

deals as (
    select * from {{ ref('stg_portal__deals') }}
),

history_events as (
    select
        cast('deal_status_events' as {{ dbt.type_string() }}) as source_name,
        _file_name as file_name,
        event_id,
        deal_id,
        status_label,
        changed_at,
        changed_on
    from status_events
),

snapshot_events as (
    select
        cast('deals' as {{ dbt.type_string() }}) as source_name,
        deals._file_name as file_name,
        deals.deal_id as event_id,
        deals.deal_id,
        deals.status_label,
        deals.updated_at as changed_at,
        {{ prm_warehouse.jst_date('deals.updated_at') }} as changed_on
    from deals
    where not exists (
        select 1
        from history_events
        where
            history_events.deal_id = deals.deal_id
            and history_events.status_label = deals.status_label
            and history_events.changed_at >= deals.updated_at
    )
),

unioned as (
    select * from history_events
    union all
    select * from snapshot_events
),

counted as (
    select * from unioned
    where changed_on <= {{ prm_warehouse.as_of_date() }}
),

final as (
    select * from counted
)

select * from final
