from oppflow.cli import app

app(prog_name="oppflow")
