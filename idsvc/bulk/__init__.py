"""Bulk work: importing a file of residents (`idsvc import`) and printing cards in batches."""
