from cardpress.cli import run

run()
