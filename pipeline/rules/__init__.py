"""The row rules of contracts.md, by responsibility.

grammar: can a text value be read (dates, numbers, periods, currency codes) and the
first-failure rule order; accounts: ids and the one hierarchy walk; fx_rates and charges: the
rules of each extract, with values parsed once. pipeline.quarantine assembles them into the
rejects and the typed checked tables; what a row is worth (spine, FX, ARR) is dbt's.
"""
