"""ocrstack's OCR service: the pipeline shared by both modes, model runners and the Flask app."""
