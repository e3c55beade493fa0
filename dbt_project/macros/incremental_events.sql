{#- Incremental processing of the event staging models (docs/incremental.md).

    An event staging model keeps one row per key: the latest delivered copy of the event
    (latest_rows.sql). Built incrementally, a run ranks again every raw copy of each key that
    may have changed since the previous run and replaces those keys in the table, so the
    result equals a full rebuild of the same raw rows. A key may have changed when

    - a raw copy of it was loaded (raw._loaded_at) after the watermark minus the look-back
      window (var `incremental_lookback_hours`, else env PRM_INCREMENTAL_LOOKBACK_HOURS,
      else 0 hours);
    - its current row comes from a file that was loaded again after that time (the load
      manifest's loaded_at): the new file may no longer hold the event;
    - a back-fill window is set (vars `backfill_start`, `backfill_end`, Japan-time dates) and
      a raw copy, or the current row, happened on a date inside it.

    The watermark is the latest load time (raw._loaded_at or manifest loaded_at) of the
    source that the model had seen when it last ran. It lives in a one-row table beside the
    model, `<model>__watermark`, written in the same transaction as the model, so a failed
    run leaves both as they were. Each model owns its own watermark table: models built by
    parallel threads never write the same table. A missing watermark means "everything has
    changed": the run ranks every key again (slow, never wrong).

    Only standard SQL and dbt's cross-database macros are used. -#}

{#- Hours subtracted from the watermark before raw rows count as new. The project's loader
    stamps every load after the latest one already recorded (raw/loader.py, load_stamp), so
    with the default 0 only loads stamped strictly later than the previous run's latest load
    count as new. A look-back is for raw rows written by other tools with their own stamps. -#}
{% macro event_lookback_hours() -%}
    {%- set configured = var(
        'incremental_lookback_hours', env_var('PRM_INCREMENTAL_LOOKBACK_HOURS', '0')
    ) | string | trim -%}
    {%- if not modules.re.match('^[0-9]+$', configured) -%}
        {{ exceptions.raise_compiler_error(
            "incremental_lookback_hours must be a whole number of hours (0 or more), got '"
            ~ configured ~ "'"
        ) }}
    {%- endif -%}
    {{ return(configured | int) }}
{%- endmacro %}

{#- The back-fill window as a pair of 'YYYY-MM-DD' strings, or none when no back-fill was
    asked for. Both vars must be given together, as Japan-time dates, start <= end. -#}
{% macro event_backfill_window() -%}
    {%- set start = var('backfill_start', '') | string | trim -%}
    {%- set end = var('backfill_end', '') | string | trim -%}
    {%- set start = '' if start == 'None' else start -%}
    {%- set end = '' if end == 'None' else end -%}
    {%- if start == '' and end == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set pattern = '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' -%}
    {%- if not (modules.re.match(pattern, start) and modules.re.match(pattern, end)) -%}
        {{ exceptions.raise_compiler_error(
            "backfill_start and backfill_end must both be YYYY-MM-DD (Japan-time dates), got '"
            ~ start ~ "' and '" ~ end ~ "'"
        ) }}
    {%- endif -%}
    {%- if start > end -%}
        {{ exceptions.raise_compiler_error(
            "backfill_start " ~ start ~ " is after backfill_end " ~ end
        ) }}
    {%- endif -%}
    {{ return([start, end]) }}
{%- endmacro %}

{#- Where the watermark of the model being built is kept. -#}
{% macro event_watermark_relation() -%}
    {{ return(api.Relation.create(
        database=this.database,
        schema=this.schema,
        identifier=this.identifier ~ '__watermark',
        type='table',
    )) }}
{%- endmacro %}

{#- SQL expression: raw rows loaded after this instant count as new. Without a
    watermark it is a date before any possible load, so every row counts as new. -#}
{% macro event_loaded_since() -%}
    coalesce(
        (
            select
                {{ dbt.dateadd(
                    'hour',
                    -1 * prm_warehouse.event_lookback_hours(),
                    'max(watermark.loaded_through)',
                ) }}
            from {{ prm_warehouse.event_watermark_relation() }} as watermark
        ),
        cast('1900-01-01 00:00:00+00' as {{ prm_warehouse.type_timestamp_tz() }})
    )
{%- endmacro %}

{#- SQL condition on `alias`: the Japan-time date of `event_at` lies in the back-fill
    window; `false` when none is set. -#}
{% macro event_in_backfill_window(alias, event_at) -%}
    {%- set window = prm_warehouse.event_backfill_window() -%}
    {%- if window is none -%}
        (1 = 0)
    {%- else -%}
        (
            {{ prm_warehouse.jst_date(alias ~ '.' ~ event_at) }}
            between cast('{{ window[0] }}' as date) and cast('{{ window[1] }}' as date)
        )
    {%- endif -%}
{%- endmacro %}

{#- SQL condition on `alias` (a row of the model): its file was loaded again since the
    watermark, or the event lies in the back-fill window. -#}
{% macro event_row_may_be_stale(alias, source_name, event_at) -%}
    (
        {{ alias }}._file_name in (
            select manifest.file_name
            from {{ source('portal', '_load_manifest') }} as manifest
            where
                manifest.source = '{{ source_name }}'
                and manifest.loaded_at > {{ prm_warehouse.event_loaded_since() }}
        )
        or {{ prm_warehouse.event_in_backfill_window(alias, event_at) }}
    )
{%- endmacro %}

{#- Select of the keys whose latest delivered copy may differ from the model's current
    row. `relation` is the raw table (or a CTE over it), `source_name` its name in the load
    manifest, `key` the event key, `event_at` the instant that dates the event; each name
    is the same in the raw table and in the model. Call only when is_incremental(). -#}
{% macro changed_event_keys(relation, source_name, key, event_at) -%}
    select delivered.{{ key }}
    from {{ relation }} as delivered
    where
        delivered._loaded_at > {{ prm_warehouse.event_loaded_since() }}
        or {{ prm_warehouse.event_in_backfill_window('delivered', event_at) }}

    union

    select current_rows.{{ key }}
    from {{ this }} as current_rows
    where {{ prm_warehouse.event_row_may_be_stale('current_rows', source_name, event_at) }}
{%- endmacro %}

{#- Pre-hook: the model's watermark table, created empty when missing. -#}
{% macro create_event_watermark() -%}
    create table if not exists {{ prm_warehouse.event_watermark_relation() }} (
        loaded_through {{ prm_warehouse.type_timestamp_tz() }},
        recorded_at {{ prm_warehouse.type_timestamp_tz() }}
    )
{%- endmacro %}

{#- Post-hook: removes rows whose event no longer has any raw copy. Only a file loaded
    again can take raw rows away, so only rows of such files (or of the back-fill window)
    are looked at; a row stays when its own raw copy (same key, file and line) still
    exists. Rows of keys that have another copy were already replaced by the run. -#}
{% macro delete_vanished_events(source_name, key, event_at) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where
            {{ prm_warehouse.event_row_may_be_stale(this.identifier, source_name, event_at) }}
            and not exists (
                select 1
                from {{ source('portal', source_name) }} as delivered
                where
                    delivered.{{ key }} = {{ this.identifier }}.{{ key }}
                    and delivered._file_name = {{ this.identifier }}._file_name
                    and delivered._line_number = {{ this.identifier }}._line_number
            )
    {%- else -%}
        select 1 as nothing_to_delete_on_a_full_build
    {%- endif -%}
{%- endmacro %}

{#- Post-hook: records how far the source was loaded when this run read it. Runs in the
    model's transaction, so the watermark moves only when the model's rows do. -#}
{% macro record_event_watermark(source_name) -%}
    {%- set watermark = prm_warehouse.event_watermark_relation() -%}
    delete from {{ watermark }};
    insert into {{ watermark }} (loaded_through, recorded_at)
    select
        max(loads.loaded_at),
        {{ dbt.current_timestamp() }}
    from (
        select max(delivered._loaded_at) as loaded_at
        from {{ source('portal', source_name) }} as delivered
        union all
        select max(manifest.loaded_at) as loaded_at
        from {{ source('portal', '_load_manifest') }} as manifest
        where manifest.source = '{{ source_name }}'
    ) as loads
{%- endmacro %}
