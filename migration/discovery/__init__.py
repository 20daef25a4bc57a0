"""Discovery of a committee's legacy estate: what each old device says about itself."""
