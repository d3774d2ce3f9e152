"""Goal models (pure): the expected-total booster (:mod:`.model`), the score grid of a trained model
(:mod:`.scoreline`) and the weekly-refitted Dixon–Coles baseline (:mod:`.dixon_coles`)."""
