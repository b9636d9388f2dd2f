document.documentElement.dataset.house = "1";
