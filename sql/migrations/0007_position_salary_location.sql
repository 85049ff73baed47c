-- Positions gain what seekers ask first: the pay and where the work is. Pay is a monthly
-- range in yuan (either end may be open) or, when the employer gives no figure, a text such
-- as 面议 ("negotiable"); a position may have both ("6000-9000, 13 months").
ALTER TABLE positions
    ADD COLUMN salary_min  integer CHECK (salary_min >= 0),
    ADD COLUMN salary_max  integer CHECK (salary_max >= 0),
    ADD COLUMN salary_text text,
    ADD COLUMN location    text,
    ADD CONSTRAINT positions_salary_range CHECK (salary_min <= salary_max);
