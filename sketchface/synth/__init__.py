"""The synthetic face world: posed faces from the face model, fine detail, photos and sketches."""
