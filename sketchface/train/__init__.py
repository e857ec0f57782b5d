"""Trainers of every stage: cyclegan, coarse (sp-, sp, dp, dnet), lines, fine."""
