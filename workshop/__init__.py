"""The workshop kit: side-by-side diffs of the two services, self-checking labs, a set-up doctor.

`python -m workshop --help` lists the commands; the Makefile's `diff`, `diff-html`, `lab`, `lab-solution`,
`doctor` and `wheelhouse` targets call them. The course itself is in docs/workshop/.
"""
