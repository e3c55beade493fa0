{#- De-duplication of raw tables. Every raw table keeps every delivered row together with
    its lineage (_file_name, _export_date, _line_number), so staging decides which copy of
    a record is the truth. Both macros return a select of every column of `relation` plus
    one helper rank column; callers name the columns they keep. `relation` is a relation or
    the name of a CTE, `key` the column that identifies a record. Only standard window
    functions and scalar subqueries are used, so no adapter needs its own version. -#}

{#- Snapshot sources: every file is a full export, the newest file is the truth. Keeps the
    rows of the newest file (highest _export_date, then highest _file_name on that date)
    and, should that file hold a key twice, the copy on the later line.

    With `quarantine` (the loaders' quarantine relation) and `source_name`, a record of the
    newest file that was quarantined does not make its entity vanish; the entity's latest
    readable row of an earlier file is kept instead (its _file_name tells which):
    - when the quarantine names the record's key and the newest file has no readable row of
      that key;
    - when the quarantine could not read the key (record_key is null): the keys of the
      previous file (the one before the newest, by _export_date, then _file_name) that the
      newest file lacks, neither as a readable row nor as a quarantined record with its key,
      are kept as long as there are no more of them than such records (every lacking key can
      be one of them). More lacking keys than unreadable records is ambiguous (some entities
      were removed): none of them is kept.
    An entity that is simply absent from the newest file is gone, as before. -#}
{% macro latest_snapshot_rows(relation, key, quarantine=none, source_name=none) -%}
    {%- set newest_file_name -%}
        (
            select max(_file_name) from {{ relation }}
            where _export_date = (select max(_export_date) from {{ relation }})
        )
    {%- endset %}
    {%- set in_newest_file -%}
        delivered._export_date = (
            select max(_export_date) from {{ relation }}
        )
        and delivered._file_name = {{ newest_file_name }}
    {%- endset %}
    select ranked.*
    from (
        select
            delivered.*,
            row_number() over (
                partition by delivered.{{ key }}
                order by delivered._line_number desc
            ) as _row_rank_in_file
        from {{ relation }} as delivered
        where
            {{ in_newest_file }}
    ) as ranked
    where ranked._row_rank_in_file = 1
    {%- if quarantine is not none %}
    {%- set newest_quarantined -%}
        {{ quarantine }} as quarantined
        where
            quarantined.source = '{{ source_name }}'
            and quarantined.file_name = {{ newest_file_name }}
    {%- endset %}
    {%- set newest_keys -%}
        select newest.{{ key }}
        from {{ relation }} as newest
        where
            newest._export_date = (select max(_export_date) from {{ relation }})
            and newest._file_name = {{ newest_file_name }}
            and newest.{{ key }} is not null
    {%- endset %}
    {%- set keyed_quarantined_keys -%}
        select quarantined.record_key
        from {{ newest_quarantined }}
            and quarantined.record_key is not null
    {%- endset %}
    {#- the previous file's keys the newest file lacks, as a row or as a keyed record -#}
    {%- set not_in_newest_file -%}
        not (
            earlier._export_date = (select max(_export_date) from {{ relation }})
            and earlier._file_name = {{ newest_file_name }}
        )
    {%- endset %}
    {%- set previous_export_date -%}
        (
            select max(earlier._export_date) from {{ relation }} as earlier
            where {{ not_in_newest_file }}
        )
    {%- endset %}
    {#- scalar subqueries, not a rank over every delivered row: one pass each -#}
    {%- set previous_file_name -%}
        (
            select max(earlier._file_name) from {{ relation }} as earlier
            where
                {{ not_in_newest_file }}
                and earlier._export_date = {{ previous_export_date }}
        )
    {%- endset %}
    {%- set lacking_keys -%}
        select previous.{{ key }}
        from {{ relation }} as previous
        where
            previous._export_date = {{ previous_export_date }}
            and previous._file_name = {{ previous_file_name }}
            and previous.{{ key }} is not null
            and previous.{{ key }} not in ({{ newest_keys }})
            and previous.{{ key }} not in ({{ keyed_quarantined_keys }})
    {%- endset %}

    union all

    select carried.*
    from (
        select
            delivered.*,
            row_number() over (
                partition by delivered.{{ key }}
                order by
                    delivered._export_date desc,
                    delivered._file_name desc,
                    delivered._line_number desc
            ) as _row_rank_in_file
        from {{ relation }} as delivered
        where
            not ({{ in_newest_file }})
            and delivered.{{ key }} not in ({{ newest_keys }})
            and (
                delivered.{{ key }} in ({{ keyed_quarantined_keys }})
                or (
                    delivered.{{ key }} in ({{ lacking_keys }})
                    and (
                        select count(distinct lacking.{{ key }})
                        from ({{ lacking_keys }}) as lacking
                    ) <= (
                        select count(*) from {{ newest_quarantined }}
                            and quarantined.record_key is null
                    )
                )
            )
    ) as carried
    where carried._row_rank_in_file = 1
    {%- endif %}
{%- endmacro %}

{#- Event sources: batches overlap and a corrected copy of an event can arrive later. Keeps
    one row per key: the latest delivered copy (highest _export_date, then _file_name,
    then _line_number). `only_keys`, when given, names a CTE (or relation) of the keys to
    rank: every delivered copy of those keys is ranked, whenever it was loaded, so an
    incremental run picks the same copy as a full one (incremental_events.sql). -#}
{% macro latest_delivered_rows(relation, key, only_keys=none) -%}
    {%- set key_filter = 'true' -%}
    {%- if only_keys is not none -%}
        {%- set key_filter = 'delivered.' ~ key ~ ' in (select ' ~ key ~ ' from '
            ~ only_keys ~ ')' -%}
    {%- endif -%}
    select ranked.*
    from (
        select
            delivered.*,
            row_number() over (
                partition by delivered.{{ key }}
                order by
                    delivered._export_date desc,
                    delivered._file_name desc,
                    delivered._line_number desc
            ) as _delivery_rank
        from {{ relation }} as delivered
        where {{ key_filter }}
    ) as ranked
    where ranked._delivery_rank = 1
{%- endmacro %}
