"""The row rules of contracts.md, by responsibility.

grammar: can a text value be read (dates, numbers, periods, currency codes) and the
first-failure rule order; accounts: ids and the one hierarchy walk; fx_rates and charges: the
rules of each extract, with values parsed once; valuation: what rows are worth (spine, FX,
ARR). pipeline.quarantine assembles them into the quarantine and the typed checked tables.
"""
