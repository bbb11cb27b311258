"""Full screens: Build (the editor), Train, Analyze, Runs, Help."""
