"""Exposure matching: from a confirmed case to every close contact, exactly once.

The rules, as implemented (pure form in :mod:`.overlap`, set-based form in :mod:`.repository`):

- **Traced window**: ``[max(infectious_from, sample_taken_at - lookback), infectious_until)``
  from the ``case.confirmed`` payload (lookback 14 days by default,
  ``LINDUNG_EXPOSURE_LOOKBACK_DAYS``). The window depends only on the event, so a replay
  matches exactly what the first delivery matched.
- **Stays** are half-open ``[checked_in_at, checked_out_at)``; a visit without a check-out
  counts until ``auto_checkout_at``. The case's stay is clipped to the traced window, then
  widened by the venue category's margins (``exposure_rules``: the category's row, else
  ``'*'``; all 0 by default).
- **Close contact**: any other person whose stay at the same venue overlaps that widened stay
  by more than zero and by at least the category's minimum (touching stays are not contacts).
  Visits are assumed to last at most ``LINDUNG_EXPOSURE_MAX_STAY_HOURS`` (24): it bounds the
  index range scans.
- **One ``exposure.detected`` per (case, contact)**, for the contact's LONGEST qualifying
  overlap with the case (ties: the earliest, then the lowest venue id): the event that tells
  the contact the most. It carries ``case_ref`` only, never the case's person id.
- **One ``venue.case_visited`` per case visit** in the traced window (whether or not anyone
  else was checked in: staff and unregistered visitors are the manager's to warn).
- **Exactly once**: ``exposure_cases`` (locked per case), ``reported_exposures`` (primary key
  case + contact) and ``reported_case_visits`` (case + visit) record what was reported; the
  events are staged in the outbox in the same transaction. A ``case.retracted`` marks the case
  and its exposures retracted and stages one ``exposure.retracted`` per exposure; a
  confirmation arriving after the retraction matches nothing.
- **Late visits**: visits uploaded from an offline phone after the case was matched are
  queued (``late_visits``) and the cases they could touch are re-matched
  (:mod:`.rematch`); the ledger keeps that exactly-once too.
"""
